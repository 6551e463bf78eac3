export { SCENARIO_FILE_PATTERN, loadScenario, parseScenario, scenarioSchema, type ReplyExpectation, type Scenario, type ToolExpectation, type Turn } from './scenario.ts';
export { callerPlan, type CallerStep } from './caller-plan.ts';
export { judge, type CallerReport, type Check, type EngineEvent, type EngineRecord, type EngineTurn, type Judgement } from './evaluate.ts';
export { summarise, textReport, type ScenarioResult, type SimulationReport } from './report.ts';
