"""One module per customer feature. Each declares, on its `feature`, the commands,
buttons, message-pipeline steps and desk commands it owns (see `bot.registry`);
`bot.app.FEATURES` lists them, and nothing else needs to know a feature exists."""
