package io.pagestream.cli;

import picocli.CommandLine.Command;

/** {@code pagestream bench}: benchmark harnesses that compare Pagestream with plain SQLite side by side. */
@Command(
        name = "bench",
        mixinStandardHelpOptions = true,
        description = "Benchmarks measured side by side in one run; the last output line is one JSON object.",
        subcommands = {BenchWriterCommand.class, BenchReplicaCommand.class, BenchRestoreCommand.class})
final class BenchCommand {}
