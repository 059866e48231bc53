"""The application on top of every layer: the `lstm-autograd` command line (`cli`), the audit of written
derivations (`audit`) and training on real tasks (`training`)."""
