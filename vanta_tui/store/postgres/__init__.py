"""PostgreSQL for the multi-host mode (issue 25): a server of one's own (`server`) and the
executor workers' claims on accounts (`claims`). psycopg is imported only here."""
