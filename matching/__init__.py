"""Pure algorithms on plain data (scoring, recommendations, event agendas): no Flask, no database."""
