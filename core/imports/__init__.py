"""CSV import of appointment history: mapping, row parsing and checks, the bulk importer."""
