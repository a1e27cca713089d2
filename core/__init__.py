"""The bottom layer: errors, the contracts between the parts (messages, raw lines, the model
artifact), the Kafka helpers and the parsers of flag and variable values. It imports nothing
else of this project."""
