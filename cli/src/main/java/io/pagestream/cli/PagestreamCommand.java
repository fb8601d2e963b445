package io.pagestream.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code pagestream} command. */
@Command(
        name = "pagestream",
        mixinStandardHelpOptions = true,
        versionProvider = PagestreamCommand.Version.class,
        description = "Page-level replication of SQLite databases through Apache Kafka.",
        subcommands = {DemoCommand.class, BrokerCommand.class, ReplicateCommand.class, CompactCommand.class, InspectCommand.class,
                RestoreCommand.class, BenchCommand.class})
public final class PagestreamCommand {
    public static void main(String[] args) {
        System.exit(new CommandLine(new PagestreamCommand()).execute(args));
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String version = PagestreamCommand.class.getPackage().getImplementationVersion();
            return new String[] {"pagestream " + (version == null ? "development build" : version)};
        }
    }
}
