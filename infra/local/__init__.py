"""The local no-Docker stack: a real Kafka (KRaft) broker and Kafka Connect from Maven Central."""

from infra.local.jars import KafkaDistribution, fetch_distribution
from infra.local.stack import LocalStack, StackConfig

__all__ = ["KafkaDistribution", "LocalStack", "StackConfig", "fetch_distribution"]
