"""Live runs: an engine started from a RunConfig (a policy that cannot start becomes no-ops with the reason),
a person's seat in it, and a branch forked from one of its turns. The apps in window/ and web/ use these."""
