"""The bottom layer: errors, the contracts between the parts (messages, raw lines, the model
artifact) and the Kafka helpers. It imports nothing else of this project."""
