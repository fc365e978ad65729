"""Finding seed files and reading their front matter into targets."""
