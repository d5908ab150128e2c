# Read by ctest after the integration tests are discovered (TEST_INCLUDE_FILES in
# tests/CMakeLists.txt): the longest tests, which mostly wait out an outage or a chain of kills,
# get a cost so that `ctest -j` starts them first. A fresh build has no cost data yet
# (Testing/Temporary/CTestCostData.txt) and runs tests in the order they were found: a 60-second
# test started near the end held the whole run up. ctest ignores a name that no longer exists.
# The costs are the seconds each takes, roughly.
set_tests_properties(Faults.SixtySecondsOf503ThenRecoveryLosesNothing PROPERTIES COST 60)
set_tests_properties(
    ChaosIssue8.KillsOutageAndFlakyLokiDuringRotationLoseNothing
    ChaosIssue8.KillDuringLongOutageWithFastRotationLosesNothing
    ChaosIssue8.AgentDownAcrossRotationsReadsCompressedAndUnopenedRotations
    Docker.ResumesFromItsPositionAfterSigkillWithoutLoss
    Reload.ReloadsDuringALokiOutageLoseNothing
  PROPERTIES COST 20)
set_tests_properties(
    Chaos.KillsDuringRotationWithAHealthyLokiLoseNothing
    PushApi.ALimitWithoutDropAnswers429UntilItsRateAllows
    Cli.StdinThatCannotBeDeliveredExitsNonZero
  PROPERTIES COST 10)
