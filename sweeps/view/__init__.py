"""What a person sees of a running sweep: the trials table (``table``), the live view for a
terminal (``live``) and one timestamped line per event for logs (``events``)."""
