"""The batch: manifest rows become call jobs, each job is scored by
``pipeline.batch.scorer``,
its recording is kept only if it is safe to serve, and every result or failure reaches the store.
"""
