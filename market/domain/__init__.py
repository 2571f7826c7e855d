"""Pure domain facts: plain values in, plain values out. No Flask, no Flask-Babel, no database.

The subsidy rules, the matchmaking algorithms and every screen stand on these, so they must give
the same answer in a web request, a CLI command, a scheduled job and a unit test. Screens turn the
codes returned here into words (``market.<feature>.labels``); nothing here speaks a language.
"""
