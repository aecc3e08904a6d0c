"""Post: planned documents leave the outbox for Oracle exactly once (DESIGN.md §3, §5)."""
