"""The paging engine: durable timers and sends, and the tick loop that runs them."""
