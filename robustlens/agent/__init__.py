"""The LangGraph agent: typed state, thin nodes, the graph builder."""
