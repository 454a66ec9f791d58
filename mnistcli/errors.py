"""The tool's own error type: everything a user can get wrong is raised as MnistcliError."""


class MnistcliError(Exception):
    """A problem with the user's input, config or files, reported as one line without a traceback."""
