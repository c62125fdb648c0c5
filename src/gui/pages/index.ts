import type { PageModule } from '../gui.js';
import { bounceRoutes } from './bounces.js';
import { certificateRoutes } from './certificates.js';
import { changeRoutes } from './changes.js';
import { dashboardRoutes } from './dashboard.js';
import { destinationRoutes } from './destinations.js';
import { loginRoutes } from './login.js';
import { metricsRoutes } from './metrics.js';
import { networkRoutes } from './network.js';
import { queueRoutes } from './queue.js';
import { logRoutes } from './logs.js';
import { settingsRoutes } from './settings.js';
import { tlsReportRoutes } from './tlsReport.js';
import { userRoutes } from './users.js';

/** Every page of the management interface. */
export const GUI_PAGES: PageModule[] = [loginRoutes, dashboardRoutes, changeRoutes, destinationRoutes, certificateRoutes, settingsRoutes, userRoutes, logRoutes, tlsReportRoutes, networkRoutes, queueRoutes, metricsRoutes, bounceRoutes];
