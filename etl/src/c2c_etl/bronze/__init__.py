"""Bronze: source rows exactly as read, with where and when they came from."""
