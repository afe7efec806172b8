"""Scan phases over explicit units of work, and the executors that run them.

::

    plan_targets(run)            -> [TargetTask]      Crawler.plan_targets (coverage rows: pending)
    crawl_target(task)           -> TargetResult      Crawler.crawl_target  (executor: threads | Celery)
    candidate_ids(run)           -> [file id]         scanner.scan.analysis
    analyse_file(ctx, file_id)   -> FileOutcome       scanner.scan.analysis (executor: threads + processes | Celery)
    sum_outcomes(run)            -> AnalysisTotals    scanner.scan.units    (reduce, from scan_file_outcomes)
    close, remediate                                  scanner.run           (reduce steps in the scan process)

Payloads are ids; outcomes live in the database, so any process can do a unit and the run sums them.
See docs/ARCHITECTURE.md.
"""
