"""The correction-and-retraction path: when a published date changes, every post follows."""
