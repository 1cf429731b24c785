"""Silver: typed, conformed, checked and deduplicated data."""
