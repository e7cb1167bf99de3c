"""Job queues: RabbitMQ in production, an in-process queue for the embedded mode."""
