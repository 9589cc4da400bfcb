"""convcost analyzer: measures what a network costs and checks the numbers three ways."""
