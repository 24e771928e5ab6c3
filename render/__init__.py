"""Viewers. Everything here reads Turn records (never the live world): `view` turns a record into figures
and flows, `scene` draws them, `charts` plots a run's metrics, `panels` writes the web page's HTML, `window`
is the pygame desktop viewer and `gif` the headless exporter."""
