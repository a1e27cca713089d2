"""The middle layer's infrastructure as code: environments, the topology engine and its REST
clients, the local stack, the Dockerfiles. It imports only `core`."""
