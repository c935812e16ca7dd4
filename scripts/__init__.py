"""Developer scripts: dev runner, migrations, seed data, users, benchmarks."""
