"""Units of work and queries over the models, one module per part of the domain.

Writers run on the writer actor's thread (handed over with `Writer.write`), readers on
a read-pool thread. They know the models and the errors, nothing of actors or HTTP.
"""
