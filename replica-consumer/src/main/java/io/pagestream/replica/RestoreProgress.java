package io.pagestream.replica;

/**
 * How far a restore got, reported now and then to its progress callback.
 *
 * @param done snapshot bytes written ({@link Stage#DOWNLOAD}), journal records read ({@link Stage#REPLAY}) or
 *     database bytes checked ({@link Stage#VERIFY})
 * @param total what {@code done} counts up to
 * @param bytes bytes written to the restored file so far in this stage
 * @param pages pages written so far in this stage
 */
public record RestoreProgress(Stage stage, long done, long total, long bytes, long pages) {

    public enum Stage { DOWNLOAD, REPLAY, VERIFY }
}
