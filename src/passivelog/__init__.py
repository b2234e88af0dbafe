"""passivelog: privacy-first passive-data logging for ASGI apps."""
