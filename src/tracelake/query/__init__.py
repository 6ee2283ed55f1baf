"""What a query means: BTQL text, Braintrust SQL and the JSON AST, parsed to one tree,
planned against tracelake's tables and compiled to SQL for the engine."""
