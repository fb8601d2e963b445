/*
 * SQLite loadable extension that exposes the few SQLite API calls Java needs, because sqlite-jdbc's
 * native library exports no sqlite3_* symbols. Everything else (the VFS itself) lives in Java.
 */
#include <stdint.h>
#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT1

#define PAGESTREAM_EXPORT __attribute__((visibility("default")))

/*
 * SQL function pagestream_main_file(): the connection's main-database sqlite3_file* as an integer, so that
 * Java can write pages through SQLite's own file handle while that connection holds the EXCLUSIVE lock
 * (a second descriptor would drop the process's POSIX locks when closed).
 */
static void main_file(sqlite3_context *context, int argc, sqlite3_value **argv) {
  (void)argc;
  (void)argv;
  sqlite3_file *file = 0;
  int rc = sqlite3_file_control(sqlite3_context_db_handle(context), "main", SQLITE_FCNTL_FILE_POINTER, &file);
  if (rc != SQLITE_OK || file == 0) {
    sqlite3_result_error(context, "pagestream_main_file: no main database file", -1);
    return;
  }
  sqlite3_result_int64(context, (sqlite3_int64)(intptr_t)file);
}

/* Runs for every connection that loads the extension. */
PAGESTREAM_EXPORT int sqlite3_extension_init(sqlite3 *db, char **error, const sqlite3_api_routines *api) {
  (void)error;
  SQLITE_EXTENSION_INIT2(api);
  int rc = sqlite3_create_function_v2(db, "pagestream_main_file", 0, SQLITE_UTF8, 0, main_file, 0, 0, 0);
  return rc == SQLITE_OK ? SQLITE_OK_LOAD_PERMANENTLY : rc;
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
