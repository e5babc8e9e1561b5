"""The offline benchmark's task builders, one module per task family; the table that runs
them is `trainables.offline.benchmark.BUILDERS`."""
