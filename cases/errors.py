"""Domain errors shared by services, views and the API."""


class Conflict(Exception):
    """The object is not in a state that allows the action (HTTP 409), e.g. a task already decided
    or a concurrent change that won the race. Carries a user-facing, translated message."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
