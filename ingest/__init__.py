"""Streaming ingestion adapters (Kafka) around the kg core."""
