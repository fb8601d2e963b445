/*
 * SQLite loadable extension that exposes the few SQLite API calls Java needs, because sqlite-jdbc's
 * native library exports no sqlite3_* symbols. Everything else (the VFS itself) lives in Java.
 */
#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT1

#define PAGESTREAM_EXPORT __attribute__((visibility("default")))

PAGESTREAM_EXPORT int sqlite3_extension_init(sqlite3 *db, char **error, const sqlite3_api_routines *api) {
  (void)db;
  (void)error;
  SQLITE_EXTENSION_INIT2(api);
  return SQLITE_OK_LOAD_PERMANENTLY;
}

PAGESTREAM_EXPORT sqlite3_vfs *pagestream_vfs_find(const char *name) { return sqlite3_vfs_find(name); }

PAGESTREAM_EXPORT int pagestream_vfs_register(sqlite3_vfs *vfs, int make_default) {
  return sqlite3_vfs_register(vfs, make_default);
}

PAGESTREAM_EXPORT int pagestream_vfs_unregister(sqlite3_vfs *vfs) { return sqlite3_vfs_unregister(vfs); }

PAGESTREAM_EXPORT const char *pagestream_uri_parameter(const char *filename, const char *name) {
  return sqlite3_uri_parameter(filename, name);
}

/* An error message SQLite may free (PRAGMA file-control results). */
PAGESTREAM_EXPORT char *pagestream_message(const char *text) { return sqlite3_mprintf("%s", text); }
