"""The Events API: validation, the durable inbox with group commit, and the processor that
turns inbox events into alerts and incidents."""
