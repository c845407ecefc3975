# src/master: filled in by its part of issue 6
