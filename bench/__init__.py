"""`make bench`: measurements of robodine-edge, each against a baseline from the same run."""
