"""The commuter database (通勤人员数据库): enrolment, listing, the identification job, evaluation."""
