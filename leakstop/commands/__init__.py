"""One thin module per command group: connect config, stages and reporters."""
