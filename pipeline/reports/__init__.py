"""What managers read: the day's figures (``analytics``), their charts (``charts``) and the
daily report file (``daily``). The review app's dashboard and the nightly flow both use it, so
the flows never import the web app."""
