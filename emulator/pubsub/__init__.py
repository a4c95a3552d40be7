"""The emulator's Pub/Sub API half: event store, gRPC service and fault injection."""
