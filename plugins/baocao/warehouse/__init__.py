"""The warehouse: models, migrations, merge and read models."""
