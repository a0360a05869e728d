"""Publishing warnings: CAP 1.2 messages (:mod:`warn.cap.codec`), the outbox and channels."""
