"""The exceptions queue: everything that needs a human, one item per cause (`dedupe_key`)."""
