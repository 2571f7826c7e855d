from tests.integration.deals.helpers import world  # noqa: F401  (the deals tests' parties)
