"""Pre-training presence scores (paper 5.2): corpus sampling, the eq. 10 scorer, the pipeline stage."""
