# The base config of search_spaces/lcdb.yaml (replay only): the learner a researcher would try
# first, what the space's enqueued `current` point reads.
learner = "RandomForestClassifier"
