class ServiceError(Exception):
    """A business rule said no. `code` is stable (API error codes); `message` is for people.

    `field`, when set, names the form field the message belongs to.
    """

    def __init__(self, code: str, message: str, *, field: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
